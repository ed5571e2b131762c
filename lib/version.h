#ifndef SK_VERSION_H
#define SK_VERSION_H

/* The release version of every binary, and the line-protocol version a
 * client and server compare (skiff-protocol(7)). */
#define SKIFF_VERSION          "0.1.0"
#define SKIFF_PROTOCOL_VERSION 1

#endif
