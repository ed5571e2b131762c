#ifndef SK_ALLOC_H
#define SK_ALLOC_H

/* Allocation that never returns NULL. Out of memory is the one fatal
 * error in skiff (STYLE.md §3): these print a message and abort. */

#include <stddef.h>

void *sk_malloc(size_t size);
void *sk_calloc(size_t n, size_t size);
void *sk_realloc(void *ptr, size_t size);
/* realloc for arrays: n * size, aborting on multiplication overflow. */
void *sk_reallocarray(void *ptr, size_t n, size_t size);
char *sk_strdup(const char *s);
char *sk_strndup(const char *s, size_t n);
/* Format into a freshly allocated string. */
char *sk_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
