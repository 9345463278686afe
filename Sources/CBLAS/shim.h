#include <cblas.h>
// OpenBLAS extensions: we run BLAS single-threaded and split work across our own pool.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
