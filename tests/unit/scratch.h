/*
 * NAME
 *	scratch - scratch files and directories for the unit tests
 * PURPOSE
 *	What every unit test that touches the file system repeats: a fresh
 *	directory or file under /tmp, writing a file, counting a
 *	directory's entries, and removing it all afterwards.
 * TRUST
 *	Unit tests only; never linked into ternd.
 * INVARIANTS
 *	A failure to make what was asked for ends the test program: nothing
 *	can be tested without it.
 */
#ifndef TERN_SCRATCH_H
#define TERN_SCRATCH_H

#include <stddef.h>

/* A new directory /tmp/tern-NAME-XXXXXX; its path in dst. */
void scratch_dir(char *dst, size_t dstsz, const char *name);
/* A new empty file /tmp/tern-NAME-XXXXXX; its path in dst. */
void scratch_file(char *dst, size_t dstsz, const char *name);
/* Remove path and everything below it. */
void scratch_remove(const char *path);
/* Replace path's contents with n octets of text. */
void scratch_write(const char *path, const void *text, size_t n);
/* Entries of a directory, "." and ".." and hidden ones not counted. */
size_t scratch_count(const char *dir);

#endif
