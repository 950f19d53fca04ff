/* h5_tensors.c — named tensors and scalar attributes in HDF5 (see jl_h5_tensors.h).
 *
 * Files are written with the 1.8+ object format (dense attribute storage, so
 * a long config string fits in an attribute) and a strong close degree (a
 * close really closes). HDF5's own error printing is silenced; its innermost
 * message is appended to ours. Every public call runs under jl_h5_lock;
 * jl_h5t_read_all reads the whole file first in a guarded child
 * (jl_h5_guard.h), then again in-process when the child succeeded, so a
 * corrupt checkpoint that crashes HDF5 is an error, not a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jl_h5_guard.h"
#include "jl_h5_tensors.h"
#include "jl_ops.h"

struct jl_h5t_writer {
    char *path; /* the final name */
    char *tmp;  /* path.tmp, where the data goes until commit */
    hid_t file;
};

/* ------------------------------------------------------------ HDF5 errors */

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc) snprintf(data, 256, "%s", e->desc);
    return 0;
}

/* HDF5's most specific message for the last failure ("" when none); clears the stack. */
static const char *h5_reason(void)
{
    static _Thread_local char buf[256];
    buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, innermost, buf);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

static void h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    H5Eclear2(H5E_DEFAULT);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* "/" + name unless name already starts with '/'; malloc'ed. */
static char *abs_name(const char *name)
{
    size_t n = strlen(name);
    char *d = malloc(n + 2);
    if (!d) return NULL;
    if (name[0] == '/') memcpy(d, name, n + 1);
    else d[0] = '/', memcpy(d + 1, name, n + 1);
    return d;
}

static hid_t file_access(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    return fapl;
}

/* The HDF5 file type of a dtype. */
static hid_t disk_type(jl_dtype dtype)
{
    switch (dtype) {
    case JL_F32: return H5T_IEEE_F32LE;
    case JL_I32: return H5T_STD_I32LE;
    case JL_I64: return H5T_STD_I64LE;
    case JL_U8: return H5T_STD_U8LE;
    default: return H5I_INVALID_HID;
    }
}

static hid_t memory_type(jl_dtype dtype)
{
    switch (dtype) {
    case JL_F32: return H5T_NATIVE_FLOAT;
    case JL_I32: return H5T_NATIVE_INT32;
    case JL_I64: return H5T_NATIVE_INT64;
    case JL_U8: return H5T_NATIVE_UINT8;
    default: return H5I_INVALID_HID;
    }
}

/* ------------------------------------------------------------------ write */

static jl_h5t_writer *create(const char *path)
{
    h5_quiet();
    jl_h5t_writer *w = calloc(1, sizeof *w);
    size_t n = strlen(path);
    if (w) w->path = dup_str(path), w->tmp = malloc(n + 5);
    if (!w || !w->path || !w->tmp) {
        if (w) free(w->path), free(w->tmp);
        free(w);
        JL_FAIL_CODE(JL_ENOMEM, "out of memory creating %s", path);
        return NULL;
    }
    memcpy(w->tmp, path, n);
    memcpy(w->tmp + n, ".tmp", 5);
    hid_t fapl = file_access();
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (w->file < 0) {
        int err = errno;
        JL_FAIL_CODE(JL_EIO, "cannot create %s: %s (%s)", w->tmp, h5_reason(), strerror(err));
        free(w->path), free(w->tmp), free(w);
        return NULL;
    }
    return w;
}

static int write_tensor(jl_h5t_writer *w, const char *name, jl_tensor *t)
{
    hid_t ftype = disk_type(t->dtype), mtype = memory_type(t->dtype);
    if (ftype == H5I_INVALID_HID)
        return JL_FAIL("cannot write dataset %s to %s: dtype %s is not supported", name, w->tmp,
                       jl_dtype_name(t->dtype));
    char *path = abs_name(name);
    if (!path) return JL_FAIL_CODE(JL_ENOMEM, "out of memory writing %s", name);

    jl_tensor *host, *c = NULL;
    bool prev = jl_set_grad_enabled(false);
    host = jl_to_device(t, JL_CPU);
    if (host) c = jl_contiguous(host);
    jl_set_grad_enabled(prev);
    jl_release(host);
    if (!c) {
        int rc = jl_error_wrap(path);
        free(path);
        return rc;
    }

    hsize_t dims[JL_MAX_DIMS];
    for (int d = 0; d < c->ndim; d++) dims[d] = (hsize_t)c->shape[d];
    hid_t space = c->ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(c->ndim, dims, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dset = H5Dcreate2(w->file, path, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    int rc = JL_OK;
    if (dset < 0) rc = JL_FAIL_CODE(JL_EIO, "cannot create dataset %s in %s: %s", path, w->tmp, h5_reason());
    else if (jl_numel(c) > 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, jl_data(c)) < 0)
        rc = JL_FAIL_CODE(JL_EIO, "cannot write dataset %s to %s: %s", path, w->tmp, h5_reason());
    if (dset >= 0) H5Dclose(dset);
    H5Pclose(lcpl);
    H5Sclose(space);
    jl_release(c);
    free(path);
    return rc;
}

/* Opens object (a group or dataset), creating it as a group when missing. */
static hid_t open_or_create(jl_h5t_writer *w, const char *object)
{
    hid_t o = H5Oopen(w->file, object, H5P_DEFAULT);
    if (o >= 0) return o;
    H5Eclear2(H5E_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    o = H5Gcreate2(w->file, object, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    return o;
}

/* Writes one scalar attribute of type `type` from `value`, replacing an old one. */
static int write_attr(jl_h5t_writer *w, const char *object, const char *key, hid_t type, const void *value)
{
    char *path = abs_name(object);
    if (!path) return JL_FAIL_CODE(JL_ENOMEM, "out of memory writing attribute %s", key);
    int rc = JL_OK;
    hid_t o = open_or_create(w, path), space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    if (o < 0) {
        rc = JL_FAIL_CODE(JL_EIO, "cannot create group %s in %s: %s", path, w->tmp, h5_reason());
        goto done;
    }
    if (H5Aexists(o, key) > 0) H5Adelete(o, key);
    space = H5Screate(H5S_SCALAR);
    attr = H5Acreate2(o, key, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, type, value) < 0)
        rc =
            JL_FAIL_CODE(JL_EIO, "cannot write attribute %s of %s in %s: %s", key, path, w->tmp, h5_reason());
done:
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    if (o >= 0) H5Oclose(o);
    free(path);
    return rc;
}

static int attr_string(jl_h5t_writer *w, const char *object, const char *key, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(value) + 1);
    H5Tset_strpad(type, H5T_STR_NULLTERM);
    H5Tset_cset(type, H5T_CSET_UTF8);
    int rc = write_attr(w, object, key, type, value);
    H5Tclose(type);
    return rc;
}

static void free_writer(jl_h5t_writer *w) { free(w->path), free(w->tmp), free(w); }

/* fsync of a file or folder; folders that refuse (EINVAL on some file systems) pass. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    if (rc < 0 && (flags & O_DIRECTORY) && errno == EINVAL) rc = 0;
    close(fd);
    return rc;
}

static int commit(jl_h5t_writer *w)
{
    int rc = JL_OK;
    if (H5Fclose(w->file) < 0) {
        rc = JL_FAIL_CODE(JL_EIO, "cannot close %s: %s", w->tmp, h5_reason());
    } else if (sync_path(w->tmp, O_RDONLY) < 0) {
        rc = JL_FAIL_CODE(JL_EIO, "cannot fsync %s: %s", w->tmp, strerror(errno));
    } else if (rename(w->tmp, w->path) < 0) {
        rc = JL_FAIL_CODE(JL_EIO, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
    } else {
        /* make the rename itself durable: fsync the folder holding path */
        char *dir = dup_str(w->path);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (dir) {
            if (slash == dir) slash[1] = 0;
            else if (slash) *slash = 0;
            else strcpy(dir, ".");
            if (sync_path(dir, O_RDONLY | O_DIRECTORY) < 0)
                rc = JL_FAIL_CODE(JL_EIO, "cannot fsync folder %s after writing %s: %s", dir, w->path,
                                  strerror(errno));
        }
        free(dir);
        free_writer(w);
        return rc;
    }
    remove(w->tmp);
    free_writer(w);
    return rc;
}

static void abort_writer(jl_h5t_writer *w)
{
    if (!w) return;
    H5Fclose(w->file);
    H5Eclear2(H5E_DEFAULT);
    remove(w->tmp);
    free_writer(w);
}

/* ------------------------------------------------------------------- read */

typedef struct reader {
    const char *path;
    jl_h5t_file *f;
    int cap_datasets, cap_attrs;
    int rc;
    /* the guarded trial: datasets are read into plain malloc'ed memory, not
     * tensors (the host cache's lock may have been held by another thread
     * at the fork), and not kept */
    bool trial;
} reader;

static int fail_oom(reader *r)
{
    return r->rc = JL_FAIL_CODE(JL_ENOMEM, "out of memory reading %s", r->path);
}

/* Maps a dataset's HDF5 type to a dtype; false when unsupported. */
static bool dtype_of(hid_t type, jl_dtype *out)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (size < 1 || size > 8) return false; /* corrupt: HDF5 would convert through buffers that large */
    if (cls == H5T_FLOAT) *out = JL_F32;
    else if (cls != H5T_INTEGER) return false;
    else if (H5Tget_size(type) == 1 && H5Tget_sign(type) == H5T_SGN_NONE) *out = JL_U8;
    else if (H5Tget_size(type) == 4 && H5Tget_sign(type) == H5T_SGN_2) *out = JL_I32;
    else *out = JL_I64;
    return true;
}

static void read_dataset(reader *r, hid_t dset, const char *name)
{
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
    jl_dtype dtype;
    int ndim = H5Sget_simple_extent_ndims(space);
    if (!dtype_of(type, &dtype)) {
        r->rc = JL_FAIL_CODE(JL_EIO, "dataset %s in %s has a type jetlab cannot read (class %d)", name,
                             r->path, (int)H5Tget_class(type));
    } else if (ndim < 0 || ndim > JL_MAX_DIMS || H5Sget_simple_extent_type(space) == H5S_NULL) {
        r->rc = JL_FAIL_CODE(JL_EIO, "dataset %s in %s has rank %d (0..%d supported)", name, r->path, ndim,
                             JL_MAX_DIMS);
    } else {
        hsize_t dims[JL_MAX_DIMS];
        int64_t shape[JL_MAX_DIMS];
        H5Sget_simple_extent_dims(space, dims, NULL);
        for (int d = 0; d < ndim; d++) shape[d] = (int64_t)dims[d];
        /* an unchunked dataset stores exactly its shape's bytes: a corrupt
         * header claiming 10^9 elements over 16 stored bytes must not make
         * us allocate gigabytes before HDF5 notices */
        hid_t plist = H5Dget_create_plist(dset);
        H5D_layout_t layout = plist >= 0 ? H5Pget_layout(plist) : H5D_LAYOUT_ERROR;
        if (plist >= 0) H5Pclose(plist);
        double want = (double)H5Sget_simple_extent_npoints(space) * (double)H5Tget_size(type);
        double stored = (double)H5Dget_storage_size(dset);
        bool mismatch = (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) && stored > 0 && stored != want;
        double bytes = (double)H5Sget_simple_extent_npoints(space) * (double)jl_dtype_size(dtype);
        jl_tensor *t = NULL;
        void *scratch = NULL;
        if (!mismatch && !r->trial) t = jl_tensor_new(dtype, ndim, shape, JL_CPU);
        else if (!mismatch && bytes < (double)(SIZE_MAX / 2)) scratch = malloc(bytes > 0 ? (size_t)bytes : 1);
        void *dst = t ? jl_data(t) : scratch;
        if (mismatch) {
            r->rc = JL_FAIL_CODE(JL_EIO,
                                 "dataset %s in %s stores %.0f bytes but its shape needs %.0f (truncated "
                                 "or corrupt?)",
                                 name, r->path, stored, want);
        } else if (!dst) {
            r->rc =
                JL_FAIL_CODE(r->trial ? JL_ENOMEM : jl_last_error_code(), "cannot read dataset %s in %s: %s",
                             name, r->path, r->trial ? "out of memory" : jl_last_error());
        } else if (bytes > 0 && H5Dread(dset, memory_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
            r->rc = JL_FAIL_CODE(JL_EIO, "cannot read dataset %s in %s: %s (truncated or corrupt?)", name,
                                 r->path, h5_reason());
        } else if (t) {
            jl_h5t_file *f = r->f;
            if (f->n_datasets == r->cap_datasets) {
                int cap = r->cap_datasets ? 2 * r->cap_datasets : 16;
                jl_h5t_dataset *grown = realloc(f->datasets, (size_t)cap * sizeof *grown);
                if (grown) f->datasets = grown, r->cap_datasets = cap;
            }
            char *copy = dup_str(name);
            if (f->n_datasets == r->cap_datasets || !copy) {
                free(copy);
                fail_oom(r);
            } else {
                f->datasets[f->n_datasets++] = (jl_h5t_dataset){copy, t};
                t = NULL;
            }
        }
        jl_release(t);
        free(scratch);
    }
    H5Tclose(type);
    H5Sclose(space);
}

typedef struct attr_ctx {
    reader *r;
    const char *object;
} attr_ctx;

static herr_t read_attr(hid_t loc, const char *key, const H5A_info_t *info, void *data)
{
    attr_ctx *c = data;
    reader *r = c->r;
    hid_t attr = H5Aopen(loc, key, H5P_DEFAULT);
    hid_t type = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
    hid_t space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
    jl_h5t_attr a = {0};
    H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (attr < 0 || type < 0 || space < 0) {
        r->rc = JL_FAIL_CODE(JL_EIO, "cannot read attribute %s of %s in %s: %s", key, c->object, r->path,
                             h5_reason());
    } else if (H5Sget_simple_extent_npoints(space) != 1 ||
               (cls != H5T_STRING && cls != H5T_FLOAT && cls != H5T_INTEGER)) {
        r->rc = JL_FAIL_CODE(JL_EIO, "attribute %s of %s in %s is not a single number or string", key,
                             c->object, r->path);
    } else if (cls != H5T_STRING) {
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, &a.number) < 0)
            r->rc = JL_FAIL_CODE(JL_EIO, "cannot read attribute %s of %s in %s: %s", key, c->object, r->path,
                                 h5_reason());
    } else if (H5Tis_variable_str(type) > 0) {
        char *s = NULL;
        hid_t mtype = H5Tcopy(H5T_C_S1);
        H5Tset_size(mtype, H5T_VARIABLE);
        if (H5Aread(attr, mtype, &s) < 0)
            r->rc = JL_FAIL_CODE(JL_EIO, "cannot read attribute %s of %s in %s: %s", key, c->object, r->path,
                                 h5_reason());
        else if (!(a.string = dup_str(s ? s : ""))) fail_oom(r);
        H5free_memory(s);
        H5Tclose(mtype);
    } else {
        size_t n = H5Tget_size(type);
        a.string = calloc(n + 1, 1);
        if (!a.string) fail_oom(r);
        else if (H5Aread(attr, type, a.string) < 0)
            r->rc = JL_FAIL_CODE(JL_EIO, "cannot read attribute %s of %s in %s: %s", key, c->object, r->path,
                                 h5_reason());
    }
    if (r->rc == JL_OK) {
        jl_h5t_file *f = r->f;
        if (f->n_attrs == r->cap_attrs) {
            int cap = r->cap_attrs ? 2 * r->cap_attrs : 16;
            jl_h5t_attr *grown = realloc(f->attrs, (size_t)cap * sizeof *grown);
            if (grown) f->attrs = grown, r->cap_attrs = cap;
        }
        a.object = dup_str(c->object);
        a.key = dup_str(key);
        if (f->n_attrs == r->cap_attrs || !a.object || !a.key) fail_oom(r);
        else f->attrs[f->n_attrs++] = a, a = (jl_h5t_attr){0};
    }
    free(a.object), free(a.key), free(a.string);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (attr >= 0) H5Aclose(attr);
    return r->rc < 0 ? -1 : 0;
}

static void read_attrs(reader *r, hid_t obj, const char *object)
{
    attr_ctx c = {r, object};
    hsize_t idx = 0;
    jl_h5_guard_step("reading the attributes of \"%s\"", object);
    if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, read_attr, &c) < 0 && r->rc == JL_OK)
        r->rc =
            JL_FAIL_CODE(JL_EIO, "cannot list the attributes of %s in %s: %s", object, r->path, h5_reason());
}

static herr_t visit(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    reader *r = data;
    if (info->type != H5L_TYPE_HARD) return 0;
    char *path = abs_name(name);
    if (!path) return fail_oom(r), -1;
    jl_h5_guard_step("reading \"%s\"", path);
    hid_t o = H5Oopen(group, name, H5P_DEFAULT);
    if (o < 0) {
        r->rc = JL_FAIL_CODE(JL_EIO, "cannot open %s in %s: %s (truncated or corrupt?)", path, r->path,
                             h5_reason());
    } else {
        if (H5Iget_type(o) == H5I_DATASET) read_dataset(r, o, path);
        if (r->rc == JL_OK) read_attrs(r, o, path);
        H5Oclose(o);
    }
    free(path);
    return r->rc < 0 ? -1 : 0;
}

static jl_h5t_file *read_all(const char *path, const char *kind, bool trial)
{
    h5_quiet();
    struct stat st;
    if (stat(path, &st) < 0) {
        JL_FAIL_CODE(JL_EIO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    hid_t fapl = file_access();
    hid_t file = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, fapl) : H5I_INVALID_HID;
    H5Pclose(fapl);
    if (file < 0) {
        const char *why = h5_reason();
        JL_FAIL_CODE(JL_EIO, "cannot read %s: not a valid HDF5 %s (truncated or corrupt?)%s%s%s", path,
                     kind ? kind : "file", why[0] ? " [HDF5: " : "", why, why[0] ? "]" : "");
        return NULL;
    }
    reader r = {.path = path, .f = calloc(1, sizeof(jl_h5t_file)), .trial = trial};
    if (!r.f) {
        fail_oom(&r);
    } else {
        hid_t root = H5Oopen(file, "/", H5P_DEFAULT);
        if (root < 0)
            r.rc = JL_FAIL_CODE(JL_EIO, "cannot read %s: no root group (truncated or corrupt?)", path);
        else read_attrs(&r, root, "/"), H5Oclose(root);
        if (r.rc == JL_OK && H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit, &r) < 0 && r.rc == JL_OK)
            r.rc = JL_FAIL_CODE(JL_EIO, "cannot read %s: %s (truncated or corrupt?)", path, h5_reason());
    }
    H5Fclose(file);
    H5Eclear2(H5E_DEFAULT);
    if (r.rc < 0) {
        jl_h5t_file_free(r.f);
        return NULL;
    }
    return r.f;
}

/* ---------------------------------------------------- the public calls */

jl_h5t_writer *jl_h5t_create(const char *path)
{
    jl_h5_lock();
    jl_h5t_writer *w = create(path);
    jl_h5_unlock();
    return w;
}

int jl_h5t_write(jl_h5t_writer *w, const char *name, jl_tensor *t)
{
    jl_h5_lock();
    int rc = write_tensor(w, name, t);
    jl_h5_unlock();
    return rc;
}

int jl_h5t_attr_string(jl_h5t_writer *w, const char *object, const char *key, const char *value)
{
    jl_h5_lock();
    int rc = attr_string(w, object, key, value);
    jl_h5_unlock();
    return rc;
}

int jl_h5t_attr_number(jl_h5t_writer *w, const char *object, const char *key, double value)
{
    jl_h5_lock();
    int rc = write_attr(w, object, key, H5T_NATIVE_DOUBLE, &value);
    jl_h5_unlock();
    return rc;
}

int jl_h5t_commit(jl_h5t_writer *w)
{
    jl_h5_lock();
    int rc = commit(w);
    jl_h5_unlock();
    return rc;
}

void jl_h5t_abort(jl_h5t_writer *w)
{
    jl_h5_lock();
    abort_writer(w);
    jl_h5_unlock();
}

typedef struct read_args {
    const char *path, *kind;
} read_args;

/* The trial in the child: the whole read, then everything freed. */
static int read_trial(void *ctx)
{
    read_args *a = ctx;
    jl_h5t_file *f = read_all(a->path, a->kind, true);
    jl_h5t_file_free(f);
    if (f) return JL_OK;
    return jl_last_error_code() ? jl_last_error_code() : JL_EIO;
}

jl_h5t_file *jl_h5t_read_all(const char *path, const char *kind)
{
    struct stat st;
    /* the tensors the child makes: about the file's size (twice, for slack) */
    size_t expected = stat(path, &st) == 0 && st.st_size > 0 ? 2 * (size_t)st.st_size : 0;
    read_args a = {path, kind};
    jl_h5_lock();
    jl_h5t_file *f = jl_h5_trial(path, "reading the file", expected, read_trial, &a) == JL_OK
                         ? read_all(path, kind, false)
                         : NULL;
    jl_h5_unlock();
    return f;
}

void jl_h5t_file_free(jl_h5t_file *f)
{
    if (!f) return;
    for (int i = 0; i < f->n_datasets; i++) free(f->datasets[i].name), jl_release(f->datasets[i].tensor);
    for (int i = 0; i < f->n_attrs; i++)
        free(f->attrs[i].object), free(f->attrs[i].key), free(f->attrs[i].string);
    free(f->datasets), free(f->attrs), free(f);
}
