/* SPDX-License-Identifier: MIT */
/*
 * hash.h - FNV-1a, 64 bit: the one string hash of the project (hash tables of
 * names and paths, kmemleak grouping, the shard of a device). Not for anything
 * an attacker may choose to collide at scale.
 */
#ifndef SOAK_HASH_H
#define SOAK_HASH_H

#include <stdint.h>

#define FNV1A_BASIS 0xcbf29ce484222325ULL /* offset basis */
#define FNV1A_PRIME 0x100000001b3ULL

/* Continue hash h over the bytes of s (not its NUL). */
static inline uint64_t
fnv1a_add(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= FNV1A_PRIME;
    }
    return h;
}

/* FNV-1a of the string s. */
static inline uint64_t
fnv1a(const char *s)
{
    return fnv1a_add(FNV1A_BASIS, s);
}

#endif
