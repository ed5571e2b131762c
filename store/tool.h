#ifndef SK_STORE_TOOL_H
#define SK_STORE_TOOL_H

/* Offline tools on a data directory: `skiffd store dump|verify DATADIR`
 * only read: they take no lock and never repair (a torn log tail is
 * reported, not cut), so they are safe on a copy or a stopped server's
 * directory. `skiffd store recover` (below) writes.
 *
 * Output is one line per item, "kind key=value ...", for grep and awk:
 *
 *     meta term=5 vote=node-a
 *     segment file=/var/lib/skiff/log/00000000000000000001.seg first=1 size=4096
 *     record index=1 term=1 type=0 len=42 offset=32
 *     snapshot file=... term=3 index=1000 conf_len=57 payload_len=300000 */

#include "lib/err.h"

#include <stdio.h>

/* Print meta, every segment with its records, and every snapshot's
 * header. Keeps going past damage (printing "damaged file=... error=...")
 * and then fails with the first problem. */
int store_tool_dump(const char *datadir, FILE *out, struct sk_err *err);

/* Check every checksum (meta, each segment record, each snapshot's whole
 * file), index and term continuity across segments, that the log
 * continues from the newest snapshot, and that meta's term is not below
 * the log's. Prints one line per file checked, then "verify ok" or fails
 * with the first problem, naming file and offset. */
int store_tool_verify(const char *datadir, FILE *out, struct sk_err *err);

/* Lost-quorum recovery (skiffd(8) DISASTER RECOVERY): make the stopped
 * member `name`, whose data directory this is, the only member of its
 * cluster, keeping every entry of its log: append a configuration entry
 * listing it alone, in a new term, and raise meta's term to it. Refuses
 * when name is not a voter of the latest configuration in the directory,
 * when the server runs (the log's flock), or on any damage. Prints what
 * it found ("member", "log", "configuration", "member" lines) and what it
 * wrote; with dry_run only what it found (a torn log tail is still cut,
 * as the server's own start would). Running it again is harmless. */
int store_tool_recover(const char *datadir, const char *name, int dry_run, FILE *out,
                       struct sk_err *err);

#endif
