/* Counts calls to malloc, calloc, realloc and posix_memalign, for the allocations-per-
 * authorization measure. Loaded with LD_PRELOAD; the harness reads the counts through
 * dlsym("headroom_allocations") and dlsym("headroom_allocations_in_lmdb").
 *
 * Attribution: while the harness has turned it on (headroom_allocations_attribute(1), around
 * the operations it measures), each allocation's call stack is walked, and those made inside
 * liblmdb (its own page and free-list buffers) are counted apart, so that the report can say
 * which allocations are Headroom's and which are the library's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdatomic.h>
#include <string.h>

static atomic_ulong allocations;
static atomic_ulong in_lmdb;
static atomic_int attributing;
static __thread int walking; /* backtrace() may allocate (it loads libgcc_s once): not counted twice */

unsigned long headroom_allocations(void) { return atomic_load(&allocations); }
unsigned long headroom_allocations_in_lmdb(void) { return atomic_load(&in_lmdb); }
void headroom_allocations_attribute(int on) { atomic_store(&attributing, on); }

static void counted(void) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    if (!atomic_load_explicit(&attributing, memory_order_relaxed) || walking) return;
    walking = 1;
    void *frames[32];
    int n = backtrace(frames, 32);
    for (int i = 2; i < n; i++) {
        Dl_info info;
        if (dladdr(frames[i], &info) && info.dli_fname && strstr(info.dli_fname, "liblmdb")) {
            atomic_fetch_add_explicit(&in_lmdb, 1, memory_order_relaxed);
            break;
        }
    }
    walking = 0;
}

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *malloc(size_t n) { counted(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { counted(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { counted(); return __libc_realloc(p, n); }
int posix_memalign(void **p, size_t a, size_t n) {
    counted();
    static int (*real)(void **, size_t, size_t);
    if (!real) real = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    return real(p, a, n);
}
