/* CRI container log writer, as kubelet reads it:
 *
 *   <RFC3339Nano time> <stdout|stderr> <F|P> <text>\n
 *
 * F marks the end of a line, P a chunk of a longer line cut at the read
 * buffer size (the next chunk continues it). When the file grows past
 * its maximum size it is renamed to "<file>.1" (replacing an older one)
 * and a new file is started. Used by the monitor: no allocation. */
#include "runtime/rt_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

size_t
rt_cri_format(char *out, size_t outsz, const struct timespec *ts, const char *stream, int partial,
              const char *line, size_t len)
{
    char when[48];
    int n;

    rt_time_rfc3339(when, sizeof(when), ts);
    n = snprintf(out, outsz, "%s %s %c ", when, stream, partial ? 'P' : 'F');
    if (n < 0 || (size_t)n + len + 1 > outsz)
        return 0;
    memcpy(out + n, line, len);
    out[(size_t)n + len] = '\n';
    return (size_t)n + len + 1;
}
