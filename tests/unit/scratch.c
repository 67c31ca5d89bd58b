#include "scratch.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "scratch: %s %s: ", what, path);
	perror(NULL);
	exit(1);
}

void
scratch_dir(char *dst, size_t dstsz, const char *name)
{
	snprintf(dst, dstsz, "/tmp/tern-%s-XXXXXX", name);
	if (mkdtemp(dst) == NULL)
		die("mkdtemp", dst);
}

void
scratch_file(char *dst, size_t dstsz, const char *name)
{
	int fd;

	snprintf(dst, dstsz, "/tmp/tern-%s-XXXXXX", name);
	if ((fd = mkstemp(dst)) < 0)
		die("mkstemp", dst);
	close(fd);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
scratch_remove(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
scratch_write(const char *path, const void *text, size_t n)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || (n > 0 && fwrite(text, n, 1, fp) != 1) ||
	    fclose(fp) != 0)
		die("write", path);
}

size_t
scratch_count(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		die("opendir", dir);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}
