/* Click tracking for the email channel: the links of an HTML message rewritten so that a
 * click goes through Parley (which records `email.clicked` and redirects to the target),
 * and an optional open pixel. The HTML is parsed and written back by libxml2's HTML
 * parser (docs/email.md, "Click tracking", says what it changes in a document).
 *
 * Which links. A link is *tracked* when it is an <a> element whose href, trimmed of
 * ASCII white space, starts with "http://" or "https://" (in any case) and which is not
 * marked data-parley-track="off". mailto:, tel:, "#anchor", relative and javascript:
 * links are never tracked. Tracked links are numbered from 1 in document order; the name
 * of the n-th is its data-parley-link attribute when that is present and not empty, else
 * "link-<n>" (so naming one link never renumbers the others, and a link keeps its
 * generated name as long as the tracked links before it stay the same).
 *
 * Limits. The first EMAIL_LINKS_MAX_LINKS tracked links are offered to the caller, the
 * rest are kept as they are; a tracked link whose URL is longer than EMAIL_LINKS_MAX_URL
 * bytes is kept as it is and not offered (it is still numbered). An HTML longer than
 * EMAIL_LINKS_MAX_HTML bytes is refused.
 *
 * The data-parley-link and data-parley-track attributes are instructions to Parley: they
 * are removed from every <a>, tracked or not, and never reach the recipient.
 *
 * The functions keep no state between calls. libxml2 initializes itself on its first
 * use: the first call must not race with another thread's first use of libxml2 (the
 * plugin calls them on the loop thread). */
#ifndef PARLEY_EMAIL_LINKS_H
#define PARLEY_EMAIL_LINKS_H
#include <stddef.h>

#define EMAIL_LINKS_MAX_HTML (1024 * 1024) /* bytes of HTML accepted */
#define EMAIL_LINKS_MAX_LINKS 200          /* tracked links offered to the caller */
#define EMAIL_LINKS_MAX_URL 2048           /* bytes of a URL offered to the caller */

/* The URL a tracked link is given: `name` its name (as written in data-parley-link,
 * unescaped: the caller escapes it where it goes), `target` its original URL (entities
 * decoded, white space trimmed). Returns a malloc'd URL, which the library frees; or
 * NULL to keep the original. Both strings are valid for the call only. */
typedef char *(*email_link_url_fn)(void *ud, const char *name, const char *target);

/* The URL of the open pixel, malloc'd (the library frees it), or NULL for no pixel. */
typedef char *(*email_pixel_url_fn)(void *ud);

struct email_links_opts {
  email_link_url_fn link_url;   /* NULL: no link is rewritten */
  email_pixel_url_fn pixel_url; /* NULL (the default): no open pixel */
  void *ud;                     /* passed to both */
};

/* The message `html` (UTF-8, NUL-terminated) with each tracked link's href replaced by
 * what opts->link_url returns and, when opts->pixel_url is set and returns a URL, a 1x1
 * <img> of that URL appended as the last child of <body>. The document is parsed once and
 * written once, as HTML in UTF-8; its meta charset, if any, is kept as it was.
 *
 * Returns the new HTML, malloc'd (the caller frees it), or NULL and why (NUL-terminated,
 * cut to `len`): html NULL, empty, longer than EMAIL_LINKS_MAX_HTML, not valid UTF-8, or
 * out of memory. Malformed HTML (unclosed tags, stray end tags) is not an error: it is
 * repaired the way libxml2 repairs it. */
char *email_links_rewrite(const char *html, const struct email_links_opts *opts, char *why,
                          size_t len);

#endif
