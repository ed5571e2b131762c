#ifndef SK_CONF_INT_H
#define SK_CONF_INT_H

/* Private to lib/conf*.c. */

#include <stddef.h>

/* Longest piece of user text quoted in a message. */
#define SK_CONF_SHOW_MAX 64

/* Copy s into out (outsz >= SK_CONF_SHOW_MAX + 8) for quoting in a
 * message: control bytes become \xNN so a garbage file cannot write
 * escape sequences to the terminal, and long text is cut with "...". */
void sk_conf_show(const char *s, char *out, size_t outsz);

#endif
