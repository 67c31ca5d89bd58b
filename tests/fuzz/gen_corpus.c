/*
 * gen_corpus - write the binary fuzz seeds with tern's own encoders.
 *
 *	gen_corpus DIR
 *
 * DIR/envelope/NAME: envelopes from envelope_encode; DIR/spool_load/NAME:
 * queue files from spool_create, spool_commit and spool_append_status, some cut
 * short the way a crash would.  The output is deterministic (fixed times
 * and IDs are replaced) so that regenerating changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/common/buf.h"
#include "../../src/queue/envelope.h"
#include "../../src/queue/spool.h"

static const char *outdir;

static void
die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
write_file(const char *sub, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	if ((fp = fopen(path, "w")) == NULL)
		die(path);
	if ((n > 0 && fwrite(p, n, 1, fp) != 1) || fclose(fp) != 0)
		die(path);
}

/* A typical message: one sender, one recipient. */
static void
env_simple(struct envelope *e)
{
	envelope_init(e);
	e->arrival = 1767225600000000LL;
	envelope_set(&e->client_addr, "192.0.2.1");
	envelope_set(&e->client_name, "unknown");
	envelope_set(&e->helo, "client.example.net");
	envelope_set(&e->protocol, "ESMTP");
	envelope_set(&e->sender, "alice@example.net");
	envelope_set(&e->envid, "");
	envelope_set(&e->auth, "");
	envelope_add_rcpt(e, "bob@example.org", "bob@example.org", "", 0);
}

/* Every field used: DSN parameters, aliases, UTF-8. */
static void
env_full(struct envelope *e)
{
	envelope_init(e);
	e->arrival = 1767225600123456LL;
	envelope_set(&e->client_addr, "2001:db8::25");
	envelope_set(&e->client_name, "mail.example.net");
	envelope_set(&e->helo, "mail.example.net");
	envelope_set(&e->protocol, "UTF8SMTP");
	envelope_set(&e->sender,
	    "j\xc3\xb6rg@b\xc3\xbc"
	    "cher.example");
	e->body = 2;
	e->ret = 1;
	e->smtputf8 = 1;
	envelope_set(&e->envid, "QQ314159+2Bx");
	envelope_set(&e->auth, "<>");
	envelope_add_rcpt(e, "bob@example.org", "staff@example.org",
	    "rfc822;staff@example.org", 0x2 | 0x4);
	envelope_add_rcpt(e, "carol@example.org", "staff@example.org",
	    "rfc822;staff@example.org", 0x2 | 0x4);
	envelope_add_rcpt(e, "remote@elsewhere.example",
	    "\xe7\x94\xa8\xe6\x88\xb7@example.org", "utf-8;x+2Bz", 0x8);
	envelope_add_rcpt(e, "postmaster", "postmaster", "", 0x1);
}

/* The null sender (a bounce) to several recipients. */
static void
env_bounce(struct envelope *e)
{
	char addr[64];

	envelope_init(e);
	e->arrival = 1;
	envelope_set(&e->client_addr, "127.0.0.1");
	envelope_set(&e->client_name, "localhost");
	envelope_set(&e->helo, "[127.0.0.1]");
	envelope_set(&e->protocol, "SMTP");
	envelope_set(&e->sender, "");
	e->ret = 2;
	envelope_set(&e->envid, "");
	envelope_set(&e->auth, "");
	for (int i = 0; i < 40; i++) {
		snprintf(addr, sizeof(addr), "user%d@example.org", i);
		envelope_add_rcpt(e, addr, addr, "", (unsigned)(i % 16));
	}
}

/* Strings at their limit. */
static void
env_long(struct envelope *e)
{
	char big[ENV_MAX_STRING + 1];

	memset(big, 'x', ENV_MAX_STRING);
	big[ENV_MAX_STRING] = '\0';
	env_simple(e);
	envelope_set(&e->helo, big);
	envelope_set(&e->envid, big);
	envelope_add_rcpt(e, big, big, big, 15);
}

static void (*const envs[])(struct envelope *) = {
    env_simple, env_full, env_bounce, env_long};
static const char *const env_names[] = {"simple", "full", "bounce", "long"};

static void
gen_envelopes(void)
{
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		struct envelope e;
		struct buf b;

		envs[i](&e);
		buf_init(&b, 1 << 20);
		if (envelope_encode(&e, &b) < 0) {
			fprintf(
			    stderr, "gen_corpus: encode %s\n", env_names[i]);
			exit(1);
		}
		write_file("envelope", env_names[i], b.data, b.len);
		buf_free(&b);
		envelope_free(&e);
	}
}

/* Commit a message; append status records; copy the file out. */
static void
gen_spool_one(struct spool *sp, const char *name, const char *text,
    void (*mk)(struct envelope *), const char *const *status, size_t cut)
{
	char id[SPOOL_ID_LEN + 1], path[512], *buf;
	struct envelope e;
	struct stat st;
	size_t len = strlen(text);
	int fd;

	if ((fd = spool_create(sp, id)) < 0)
		die("spool_create");
	if (len > 0 && write(fd, text, len) != (ssize_t)len)
		die("write");
	mk(&e);
	if (spool_commit(sp, id, fd, len, &e) < 0)
		die("spool_commit");
	envelope_free(&e);
	for (; status && *status; status++)
		if (spool_append_status(sp, id,
		        (enum spool_status_type) * *status, *status + 1) < 0)
			die("spool_append_status");
	snprintf(path, sizeof(path), "%s/queue/%s", spool_dir(sp), id);
	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) < 0)
		die(path);
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size)
		die(path);
	close(fd);
	write_file("spool_load", name, buf,
	    (size_t)st.st_size - (cut < (size_t)st.st_size ? cut : 0));
	free(buf);
	spool_remove(sp, id);
}

static void
gen_spool(void)
{
	static const char *const none[] = {NULL};
	static const char *const progress[] = {
	    "Y0 1767229200 1", "D1", "F2", "Y0 1767232800 2", NULL};
	static const char *const done[] = {"D0", NULL};
	static const char *const bad[] = {"D7", "Yx", "Q0", "Y0 12", NULL};
	const char *msg = "Received: from client.example.net (unknown "
	                  "[192.0.2.1])\r\n\tby mx.example.org (tern) with "
	                  "ESMTP id 7QKR2B00000042; Thu, 01 Jan 2026 "
	                  "00:00:00 +0000\r\nFrom: alice@example.net\r\n"
	                  "To: bob@example.org\r\nSubject: test\r\n\r\n"
	                  "Hello Bob.\r\n.leading dot kept unstuffed\r\n";
	char dir[] = "/tmp/tern-gen-corpus-XXXXXX", err[256], cmd[128];
	struct spool *sp;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	if ((sp = spool_open(dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "gen_corpus: %s\n", err);
		exit(1);
	}
	gen_spool_one(sp, "simple", msg, env_simple, none, 0);
	gen_spool_one(sp, "empty-text", "", env_simple, done, 0);
	gen_spool_one(sp, "full-status", msg, env_full, progress, 0);
	gen_spool_one(sp, "bounce", msg, env_bounce, done, 0);
	gen_spool_one(sp, "bad-status", msg, env_full, bad, 0);
	gen_spool_one(sp, "torn-status", msg, env_full, progress, 5);
	spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		die("rm");
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	outdir = argv[1];
	gen_envelopes();
	gen_spool();
	return 0;
}
