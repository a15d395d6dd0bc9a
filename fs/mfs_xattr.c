/* mfs_xattr.c -- getxattr and listxattr (see mfs_xattr.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mfs_xattr.h"

#define MFS_X_DESC "user.memofs.description"
#define MFS_X_STATE "user.memofs.state"
#define MFS_X_KEY "user.memofs.key"
#define MFS_X_SECONDS "user.memofs.compute_seconds"
#define MFS_X_CREATED "user.memofs.created"
#define MFS_X_VALUE_MAX 64

/* The value (len bytes), its size (size 0), or ERANGE. */
static void mfs_xattr_reply(fuse_req_t req, const char *value, size_t len,
			    size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

static const char *mfs_xattr_state_name(enum memo_info_state s)
{
	switch (s) {
	case MEMO_INFO_QUEUED:
		return "queued";
	case MEMO_INFO_COMPUTING:
		return "computing";
	case MEMO_INFO_CACHED:
		return "cached";
	case MEMO_INFO_ABSENT:
		break;
	}
	return "absent";
}

/* Formats ns since the epoch as ISO 8601 UTC with nanoseconds. */
static void mfs_xattr_time(uint64_t ns, char *buf, size_t len)
{
	time_t secs = (time_t)(ns / 1000000000u);
	struct tm tm;
	char day[32];

	gmtime_r(&secs, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lluZ", day,
		 (unsigned long long)(ns % 1000000000u));
}

/* The value of result attribute name into buf.  0, -ENODATA or -EIO. */
static int mfs_xattr_value(struct mfs *fs, struct mfs_node *n,
			   const char *name, char *buf, size_t len)
{
	struct memo_info info;
	int rc = memo_info(fs->m, n->fn, n->arg, &info);

	if (rc)
		return rc;
	if (strcmp(name, MFS_X_STATE) == 0) {
		snprintf(buf, len, "%s", mfs_xattr_state_name(info.state));
	} else if (strcmp(name, MFS_X_KEY) == 0) {
		key_hex(info.key, buf);
	} else if (info.state != MEMO_INFO_CACHED) {
		return -ENODATA;
	} else if (strcmp(name, MFS_X_SECONDS) == 0) {
		snprintf(buf, len, "%.6f", info.compute_ns / 1e9);
	} else if (strcmp(name, MFS_X_CREATED) == 0) {
		mfs_xattr_time(info.created_ns, buf, len);
	} else {
		return -ENODATA;
	}
	return 0;
}

void mfs_xattr_get(fuse_req_t req, struct mfs *fs, struct mfs_node *n,
		   const char *name, size_t size)
{
	char value[MFS_X_VALUE_MAX];
	const char *desc;
	int rc;

	if (n->kind == MFS_FNDIR && strcmp(name, MFS_X_DESC) == 0) {
		desc = reg_fn_description(n->fn);
		mfs_xattr_reply(req, desc, strlen(desc), size);
		return;
	}
	if (n->kind != MFS_RESULT) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	rc = mfs_xattr_value(fs, n, name, value, sizeof(value));
	if (rc)
		fuse_reply_err(req, -rc);
	else
		mfs_xattr_reply(req, value, strlen(value), size);
}

void mfs_xattr_list(fuse_req_t req, struct mfs *fs, struct mfs_node *n,
		    size_t size)
{
	static const char cached[] = MFS_X_STATE "\0" MFS_X_KEY "\0"
		MFS_X_SECONDS "\0" MFS_X_CREATED;
	static const char uncached[] = MFS_X_STATE "\0" MFS_X_KEY;
	struct memo_info info;

	if (n->kind == MFS_FNDIR) {
		mfs_xattr_reply(req, MFS_X_DESC, sizeof(MFS_X_DESC), size);
	} else if (n->kind != MFS_RESULT) {
		mfs_xattr_reply(req, "", 0, size);
	} else if (memo_info(fs->m, n->fn, n->arg, &info) != 0) {
		fuse_reply_err(req, EIO);
	} else if (info.state == MEMO_INFO_CACHED) {
		mfs_xattr_reply(req, cached, sizeof(cached), size);
	} else {
		mfs_xattr_reply(req, uncached, sizeof(uncached), size);
	}
}
