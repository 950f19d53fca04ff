# mpi_lib.sh — what the MPI shell tests share (sourced after lib.sh, not run by ctest):
# exits 0 with SKIP when mpirun is missing or $JETLAB has no MPI, and defines
#   mpi SECONDS COMMAND...   # COMMAND as 2 ranks on loopback (as root too), under timeout
if ! command -v mpirun >/dev/null; then
  echo "SKIP: no mpirun (apt-get install openmpi-bin libopenmpi-dev, or scripts/install-deps.sh)"
  exit 0
fi
if [ "$("$JETLAB" -e 'io.write(tostring(jl.dist.compiled()))')" != true ]; then
  echo "SKIP: $JETLAB was built without MPI (configure with libopenmpi-dev installed)"
  exit 0
fi
# the machine runs tests as root; loopback only
mpi() { timeout "$1" mpirun --oversubscribe --allow-run-as-root --mca btl self,vader,tcp -n 2 "${@:2}"; }
