#include <dnnl.h>

// libgomp's entry points (oneDNN's threading runtime), so that Swift kernels run on the same OpenMP
// thread pool as oneDNN instead of a second pool that fights it for the cores.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_max_threads(void);
