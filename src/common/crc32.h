/*
 * NAME
 *	crc32 - CRC-32C checksums for spool records
 * PURPOSE
 *	Detects torn or corrupted queue files and status records.
 * TRUST
 *	Any process.
 * INVARIANTS
 *	crc32c(crc32c(0, a), b) == crc32c(0, a || b).
 */
#ifndef TERN_CRC32_H
#define TERN_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
