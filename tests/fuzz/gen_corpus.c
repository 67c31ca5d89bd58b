/*
 * gen_corpus - write the binary fuzz seeds with tern's own encoders.
 *
 *	gen_corpus DIR
 *
 * DIR/ipc_<role>/NAME: IPC frames (msg.h encoders) as that role receives
 * them, behind a byte naming the sender (fuzz_ipc.c).
 * DIR/envelope/NAME: envelopes from envelope_encode; DIR/spool_load/NAME:
 * queue files from spool_commit_group and spool_msg_status, some holding
 * several messages, some cut short the way a crash would.  The output is deterministic (fixed times
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
#include "../../src/proc/msg.h"
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

/*
 * Commit nmsg copies of a message as one file (IDs fixed, as
 * fuzz_spool_load repairs them); append status records ("Tvalue", for
 * the first message); copy the file out, cut short by cut octets.
 */
static void
gen_spool_one(struct spool *sp, const char *name, const char *text,
    void (*mk)(struct envelope *), const char *const *status, size_t cut,
    unsigned nmsg)
{
	struct spool_commit c[4];
	struct envelope e;
	char id[SPOOL_ID_LEN + 1], path[512], *buf;
	struct stat st;
	unsigned k;
	int fd;

	mk(&e);
	for (k = 0; k < nmsg; k++) {
		snprintf(id, sizeof(id), "0123456789ABC%c", 'A' + k);
		c[k].draft = spool_draft_new(sp, id);
		if (spool_draft_append(sp, c[k].draft, text, strlen(text)) < 0)
			die("spool_draft_append");
		c[k].env = &e;
		c[k].nonce = 0x0123456789abcdefULL + k;
	}
	spool_commit_group(sp, c, nmsg);
	for (k = 0; k < nmsg; k++)
		if (c[k].err) {
			errno = c[k].err;
			die("spool_commit_group");
		}
	spool_commit_done(sp, c, nmsg);
	envelope_free(&e);
	for (; status && *status; status++)
		if (spool_msg_status(sp, c[0].msg,
		        (enum spool_status_type) * *status, *status + 1) < 0)
			die("spool_msg_status");
	snprintf(path, sizeof(path), "%s/queue/0123456789ABCA", spool_dir(sp));
	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) < 0)
		die(path);
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size)
		die(path);
	close(fd);
	write_file("spool_load", name, buf,
	    (size_t)st.st_size - (cut < (size_t)st.st_size ? cut : 0));
	free(buf);
	for (k = 0; k < nmsg; k++)
		spool_msg_done(sp, c[k].msg);
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
	gen_spool_one(sp, "simple", msg, env_simple, none, 0, 1);
	gen_spool_one(sp, "empty-text", "", env_simple, done, 0, 1);
	gen_spool_one(sp, "full-status", msg, env_full, progress, 0, 1);
	gen_spool_one(sp, "bounce", msg, env_bounce, done, 0, 1);
	gen_spool_one(sp, "bad-status", msg, env_full, bad, 0, 1);
	gen_spool_one(sp, "torn-status", msg, env_full, progress, 5, 1);
	gen_spool_one(sp, "three-messages", msg, env_full, progress, 0, 3);
	spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		die("rm");
}

/* ------------------------------------------------------------- IPC */

/* One IPC frame (ipc.h): payload length, type, flags, id, payload. */
static void
frame(struct buf *out, uint16_t type, uint32_t id, const struct buf *pl)
{
	unsigned char h[12];
	size_t n = pl ? pl->len : 0;

	h[0] = (unsigned char)n;
	h[1] = (unsigned char)(n >> 8);
	h[2] = (unsigned char)(n >> 16);
	h[3] = (unsigned char)(n >> 24);
	h[4] = (unsigned char)type;
	h[5] = (unsigned char)(type >> 8);
	h[6] = h[7] = 0;
	h[8] = (unsigned char)id;
	h[9] = (unsigned char)(id >> 8);
	h[10] = (unsigned char)(id >> 16);
	h[11] = (unsigned char)(id >> 24);
	buf_append(out, h, 12);
	if (n)
		buf_append(out, pl->data, n);
}

/* A seed: the sender's index (fuzz_ipc.c's senders[]), then frames. */
static void
ipc_seed(const char *role, const char *name, enum proc_role from,
    const struct buf *frames)
{
	static const enum proc_role order[] = {
	    ROLE_PARENT, ROLE_SMTP, ROLE_LOOKUP, ROLE_QUEUE, ROLE_LOCAL};
	char sub[64];
	struct buf b;
	unsigned char k = 0;

	while (order[k] != from)
		k++;
	buf_init(&b, 1 << 20);
	buf_append(&b, &k, 1);
	buf_append(&b, frames->data, frames->len);
	snprintf(sub, sizeof(sub), "ipc_%s", role);
	write_file(sub, name, b.data, b.len);
	buf_free(&b);
}

static void
gen_ipc(void)
{
	struct buf f, p;
	struct netaddr a;
	struct msg_rcpt rq;
	struct msg_admit_ans aa;
	struct lookup_reply lr;
	struct lookup_dest d;
	struct msg_deliver md;
	struct msg_deliver_ans da;
	struct msg_peer peer = {ROLE_QUEUE, 0, 1};
	struct envelope e;
	char *finals[2] = {"bob@example.org", "carol@example.org"};

	buf_init(&f, 1 << 20);
	buf_init(&p, 1 << 20);
	netaddr_parse("192.0.2.7", &a);
	/* lookup, from smtp: admission, release, recipients, VRFY */
	msg_enc_netaddr(&p, &a);
	frame(&f, MSG_ADMIT, 1, &p);
	frame(&f, MSG_RELEASE, 0, &p);
	p.len = 0;
	memset(&rq, 0, sizeof(rq));
	rq.client = a;
	snprintf(rq.local, sizeof(rq.local), "bob+tag");
	snprintf(rq.domain, sizeof(rq.domain), "example.org");
	msg_enc_rcpt(&p, &rq);
	frame(&f, MSG_RCPT, 2, &p);
	frame(&f, MSG_VRFY, 3, &p);
	ipc_seed("lookup", "smtp-requests", ROLE_SMTP, &f);
	f.len = p.len = 0;
	msg_enc_text(&p, "bob@example.org");
	frame(&f, MSG_RESOLVE, 4, &p);
	ipc_seed("lookup", "queue-resolve", ROLE_QUEUE, &f);
	/* smtp, from lookup and from queue */
	f.len = p.len = 0;
	memset(&aa, 0, sizeof(aa));
	aa.client.access = LOOKUP_ACCESS_RELAY;
	aa.client.may_relay = 1;
	msg_enc_admit_ans(&p, &aa);
	frame(&f, MSG_ADMIT_ANS, 1, &p);
	p.len = 0;
	memset(&lr, 0, sizeof(lr));
	lr.verdict = LOOKUP_V_ACCEPT;
	lr.final = finals;
	lr.nfinal = 2;
	msg_enc_lookup_ans(&p, &lr);
	frame(&f, MSG_LOOKUP_ANS, 2, &p);
	/* One of each kind of verdict argument: a new address, a table, a
	 * client access text. */
	p.len = 0;
	memset(&lr, 0, sizeof(lr));
	lr.verdict = LOOKUP_V_FORWARD;
	snprintf(lr.arg, sizeof(lr.arg), "carol@example.org");
	lr.final = finals + 1;
	lr.nfinal = 1;
	msg_enc_lookup_ans(&p, &lr);
	frame(&f, MSG_LOOKUP_ANS, 3, &p);
	p.len = 0;
	memset(&lr, 0, sizeof(lr));
	lr.verdict = LOOKUP_V_UNKNOWN_USER;
	lr.table = LOOKUP_T_VIRTUAL;
	msg_enc_lookup_ans(&p, &lr);
	frame(&f, MSG_LOOKUP_ANS, 4, &p);
	p.len = 0;
	memset(&lr, 0, sizeof(lr));
	lr.verdict = LOOKUP_V_ACCESS_DEFER;
	snprintf(lr.arg, sizeof(lr.arg), "Greylisted, try again later");
	msg_enc_lookup_ans(&p, &lr);
	frame(&f, MSG_LOOKUP_ANS, 5, &p);
	p.len = 0;
	memset(&lr, 0, sizeof(lr));
	lr.verdict = LOOKUP_V_RELOCATED;
	msg_enc_lookup_ans(&p, &lr);
	frame(&f, MSG_LOOKUP_ANS, 6, &p);
	frame(&f, MSG_TABLES, 0, NULL);
	ipc_seed("smtp", "lookup-answers", ROLE_LOOKUP, &f);
	f.len = p.len = 0;
	msg_enc_u64(&p, 123456789);
	frame(&f, MSG_SPACE, 0, &p);
	frame(&f, MSG_QUEUED_ANS, 5, &p);
	p.len = 0;
	buf_append(&p, "\1", 1);
	frame(&f, MSG_ROOM_ANS, 6, &p);
	frame(&f, MSG_COMMIT_ANS, 7, &p);
	p.len = 0;
	buf_append(&p, "\2", 1);
	frame(&f, MSG_COMMIT_ANS, 9, &p);
	p.len = 0;
	msg_enc_id(&p, 0, "");
	frame(&f, MSG_OPEN_ANS, 8, &p);
	p.len = 0;
	msg_enc_id(&p, 1, "1K1C0B02NR8000");
	frame(&f, MSG_OPEN_ANS, 10, &p);
	ipc_seed("smtp", "queue-answers", ROLE_QUEUE, &f);
	f.len = p.len = 0;
	msg_enc_text(&p, "myhostname = mx.example.org\nsmtp_processes = 2\n");
	frame(&f, MSG_CONF, 0, &p);
	p.len = 0;
	msg_enc_peer(&p, &peer);
	frame(&f, MSG_PEER, 0, &p);
	frame(&f, MSG_GO, 0, NULL);
	frame(&f, MSG_STOP, 0, NULL);
	ipc_seed("smtp", "parent-control", ROLE_PARENT, &f);
	/* queue, from smtp, lookup and local */
	f.len = p.len = 0;
	msg_enc_u64(&p, 4096);
	frame(&f, MSG_ROOM, 1, &p);
	frame(&f, MSG_OPEN, 2, NULL);
	p.len = 0;
	msg_enc_data(&p, "1K1C0B02NR8000", "Subject: x\r\n\r\nhi\r\n", 19);
	frame(&f, MSG_DATA, 0, &p);
	p.len = 0;
	env_full(&e);
	msg_enc_commit(&p, "1K1C0B02NR8000", 19, &e);
	envelope_free(&e);
	frame(&f, MSG_COMMIT, 3, &p);
	p.len = 0;
	msg_enc_id(&p, 1, "1K1C0B02NR8000");
	frame(&f, MSG_ABORT, 0, &p);
	frame(&f, MSG_QUEUED, 4, NULL);
	ipc_seed("queue", "smtp-requests", ROLE_SMTP, &f);
	f.len = p.len = 0;
	memset(&d, 0, sizeof(d));
	d.type = LOOKUP_DEST_MAILDIR;
	snprintf(d.path, sizeof(d.path), "/var/mail/bob");
	msg_enc_resolve_ans(&p, &d);
	frame(&f, MSG_RESOLVE_ANS, 1, &p);
	frame(&f, MSG_TABLES, 0, NULL);
	ipc_seed("queue", "lookup-answers", ROLE_LOOKUP, &f);
	f.len = p.len = 0;
	memset(&da, 0, sizeof(da));
	da.status = 1;
	snprintf(da.dsn, sizeof(da.dsn), "4.2.2");
	snprintf(da.error, sizeof(da.error), "write message: No space");
	msg_enc_deliver_ans(&p, &da);
	frame(&f, MSG_DELIVER_ANS, 1, &p);
	ipc_seed("queue", "local-answers", ROLE_LOCAL, &f);
	/* local, from queue (the descriptor itself cannot be fuzzed) */
	f.len = p.len = 0;
	memset(&md, 0, sizeof(md));
	snprintf(md.maildir, sizeof(md.maildir), "/var/mail/bob");
	snprintf(md.return_path, sizeof(md.return_path), "s@example.org");
	snprintf(md.rcpt, sizeof(md.rcpt), "bob@example.org");
	snprintf(md.unique, sizeof(md.unique),
	    "1767225600.Q1K1C0B02NR8000N0123456789abcdefR0");
	md.look_for_copy = 1;
	md.off = 64;
	md.len = 4096;
	msg_enc_deliver(&p, &md);
	frame(&f, MSG_DELIVER, 1, &p);
	ipc_seed("local", "queue-requests", ROLE_QUEUE, &f);
	/* parent, from the client side of a channel that closed */
	f.len = p.len = 0;
	peer.role = ROLE_LOOKUP;
	msg_enc_peer(&p, &peer);
	frame(&f, MSG_LOST, 0, &p);
	p.len = 0;
	peer.role = ROLE_QUEUE;
	msg_enc_peer(&p, &peer);
	frame(&f, MSG_LOST, 0, &p);
	ipc_seed("parent", "smtp-lost", ROLE_SMTP, &f);
	f.len = p.len = 0;
	peer.role = ROLE_LOCAL;
	msg_enc_peer(&p, &peer);
	frame(&f, MSG_LOST, 0, &p);
	ipc_seed("parent", "queue-lost", ROLE_QUEUE, &f);
	buf_free(&f);
	buf_free(&p);
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
	gen_ipc();
	return 0;
}
