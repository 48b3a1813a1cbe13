#include "CKernels.h"

#include <limits.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void ck_keep_freed_memory(void) {
#if defined(__GLIBC__)
    const char *variables[] = {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES"};
    for (unsigned i = 0; i < sizeof variables / sizeof *variables; i++) {
        if (getenv(variables[i])) return;
    }
    mallopt(M_MMAP_THRESHOLD, 2000000000);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    mallopt(M_TOP_PAD, 536870912);
#endif
}
