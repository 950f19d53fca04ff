/* read_table_twice.c — HDF5 alone (no jetlab) crashing on conv_struct_use_after_free.h5:
 *   gcc -fsanitize=address read_table_twice.c -I/usr/include/hdf5/serial \
 *       -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 && ./a.out conv_struct_use_after_free.h5
 */
/* Reads /table/table of a PyTables file twice with a compound memory type
 * {values_block_0 float[804], values_block_1 int64[2]}, HDF5 API only. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (int round = 0; round < 3; round++) {
        hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t d = H5Dopen2(f, "/table/table", H5P_DEFAULT);
        hsize_t df = 804, dl = 2;
        hid_t t = H5Tcreate(H5T_COMPOUND, 804 * 4 + 16);
        hid_t af = H5Tarray_create2(H5T_NATIVE_FLOAT, 1, &df), al = H5Tarray_create2(H5T_NATIVE_INT64, 1, &dl);
        H5Tinsert(t, "values_block_0", 0, af);
        H5Tinsert(t, "values_block_1", 804 * 4, al);
        void *buf = malloc(4 * (804 * 4 + 16));
        herr_t st = H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        printf("round %d: H5Dread %d\n", round, (int)st);
        free(buf);
        H5Tclose(af); H5Tclose(al); H5Tclose(t); H5Dclose(d); H5Fclose(f);
    }
    return 0;
}
