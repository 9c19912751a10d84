/*
 * replay.c -- main() for a fuzz target built without libFuzzer: runs each
 * file named on the command line (a folder: each file in it, in name
 * order) through LLVMFuzzerTestOneInput(), so seeds and past crashes are
 * replayed as tests with gcc and the usual sanitizers.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static unsigned long	replay_n;

static int
replay_file(const char *path)
{
	FILE		*f;
	uint8_t		*data = NULL, *p;
	size_t		 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			if ((p = realloc(data, cap)) == NULL)
				abort();
			data = p;
		}
		if ((n = fread(data + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	/* exactly len bytes, so that ASan sees reads past the end */
	if ((p = malloc(len ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(p, data, len);
	free(data);
	fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(p, len);
	free(p);
	replay_n++;
	return 0;
}

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_path(const char *path)
{
	struct stat	  st;
	struct dirent	 *de;
	DIR		 *d;
	char		**names = NULL, *full;
	size_t		  n = 0, i;
	int		  ret = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((names = realloc(names, (n + 1) * sizeof(*names))) == NULL)
			abort();
		if (asprintf(&full, "%s/%s", path, de->d_name) == -1)
			abort();
		names[n++] = full;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), replay_cmp);
	for (i = 0; i < n; i++) {
		if (replay_path(names[i]) == -1)
			ret = -1;
		free(names[i]);
	}
	free(names);
	return ret;
}

int
main(int argc, char *argv[])
{
	int	i, ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 64;
	}
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i]) == -1)
			ret = 1;
	printf("%s: %lu inputs replayed\n", argv[0], replay_n);
	return ret;
}
