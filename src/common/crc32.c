/*
 * crc32 - CRC-32C (Castagnoli), table driven, for the spool's and the
 * envelope's checksums (crc32.h).
 */
#include "crc32.h"

#include <pthread.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
init_table(void)
{
	uint32_t i, k, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		table[i] = c;
	}
}

uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	pthread_once(&table_once, init_table);
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
