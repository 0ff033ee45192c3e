/* Click tracking: each tracked <a href> of an HTML message given the URL the caller
 * chooses, and an optional open pixel (email_links.h says which links and how they are
 * named). libxml2 parses and writes the HTML, so whatever a template produces, valid or
 * not, comes out as a document a mail client reads the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>

#include "email_links.h"

#define ATTR_NAME "data-parley-link"
#define ATTR_TRACK "data-parley-track"

/* The walk's progress through the tracked links. */
struct walk {
  const struct email_links_opts *opts;
  size_t tracked; /* tracked links seen so far */
  size_t offered; /* of those, offered to opts->link_url */
};

/* HTML's "ASCII whitespace", which a browser trims from an href. */
static int is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* A copy of s without leading and trailing ASCII white space, or NULL (out of memory). */
static char *trimmed(const char *s)
{
  while (is_space(*s))
    s++;
  size_t n = strlen(s);
  while (n && is_space(s[n - 1]))
    n--;
  return strndup(s, n);
}

static int is_http(const char *url)
{
  return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* Whether `a` is marked data-parley-track="off" (any case, white space around allowed). */
static int tracking_off(xmlNodePtr a)
{
  xmlChar *v = xmlGetProp(a, BAD_CAST ATTR_TRACK);
  if (v == NULL)
    return 0;
  char *t = trimmed((const char *)v);
  int off = t && strcasecmp(t, "off") == 0;
  free(t);
  xmlFree(v);
  return off;
}

/* The n-th tracked link's name: its data-parley-link when not empty, else "link-<n>".
 * malloc'd, or NULL (out of memory). */
static char *link_name(xmlNodePtr a, size_t n)
{
  xmlChar *v = xmlGetProp(a, BAD_CAST ATTR_NAME);
  char *name = NULL;
  if (v && v[0] != '\0') {
    name = strdup((const char *)v);
  } else {
    char buf[32];
    snprintf(buf, sizeof buf, "link-%zu", n);
    name = strdup(buf);
  }
  xmlFree(v);
  return name;
}

/* Offers the tracked link `a` (URL `target`) to the caller, and sets what it returns.
 * 0, or -1 when out of memory. */
static int offer(struct walk *w, xmlNodePtr a, const char *target)
{
  char *name = link_name(a, w->tracked);
  if (name == NULL)
    return -1;
  w->offered++;
  char *url = w->opts->link_url(w->opts->ud, name, target);
  free(name);
  if (url == NULL)
    return 0;
  int rc = xmlSetProp(a, BAD_CAST "href", BAD_CAST url) ? 0 : -1;
  free(url);
  return rc;
}

/* One <a>: offered when tracked and within the limits; Parley's attributes removed in
 * any case. 0, or -1 when out of memory. */
static int visit_link(struct walk *w, xmlNodePtr a)
{
  int rc = 0;
  xmlChar *href = xmlGetProp(a, BAD_CAST "href");
  char *target = href ? trimmed((const char *)href) : NULL;
  int lost = href && target == NULL;
  xmlFree(href);
  if (lost)
    return -1;
  if (target && is_http(target) && !tracking_off(a)) {
    w->tracked++;
    if (w->opts->link_url && w->offered < EMAIL_LINKS_MAX_LINKS &&
        strlen(target) <= EMAIL_LINKS_MAX_URL)
      rc = offer(w, a, target);
  }
  free(target);
  xmlUnsetProp(a, BAD_CAST ATTR_NAME);
  xmlUnsetProp(a, BAD_CAST ATTR_TRACK);
  return rc;
}

/* The node after `n` in document order, without recursion: a message may nest deeper
 * than a stack should. Climbing ends at the document node, which has no sibling. */
static xmlNodePtr next_node(xmlNodePtr n)
{
  if (n->type == XML_ELEMENT_NODE && n->children)
    return n->children;
  while (n && n->next == NULL)
    n = n->parent;
  return n ? n->next : NULL;
}

/* Every <a> of the document, in document order. 0, or -1 when out of memory. */
static int visit_links(htmlDocPtr doc, const struct email_links_opts *opts)
{
  struct walk w = {.opts = opts};
  for (xmlNodePtr n = doc->children; n; n = next_node(n))
    if (n->type == XML_ELEMENT_NODE && xmlStrcasecmp(n->name, BAD_CAST "a") == 0 &&
        visit_link(&w, n) != 0)
      return -1;
  return 0;
}

/* <body>, where the pixel goes: libxml2 adds it to a document without one, except a
 * frameset, where the root element takes it. */
static xmlNodePtr body_of(htmlDocPtr doc)
{
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (root == NULL)
    return NULL;
  for (xmlNodePtr n = root->children; n; n = n->next)
    if (n->type == XML_ELEMENT_NODE && xmlStrcasecmp(n->name, BAD_CAST "body") == 0)
      return n;
  return root;
}

/* The open pixel, a 1x1 image that no layout shows, as the last child of <body>. 0, or
 * -1 when out of memory. */
static int add_pixel(htmlDocPtr doc, const struct email_links_opts *opts)
{
  xmlNodePtr body = body_of(doc);
  if (body == NULL)
    return 0;
  char *url = opts->pixel_url(opts->ud);
  if (url == NULL)
    return 0;
  xmlNodePtr img = xmlNewDocNode(doc, NULL, BAD_CAST "img", NULL);
  int ok = img && xmlSetProp(img, BAD_CAST "src", BAD_CAST url) &&
           xmlSetProp(img, BAD_CAST "width", BAD_CAST "1") &&
           xmlSetProp(img, BAD_CAST "height", BAD_CAST "1") &&
           xmlSetProp(img, BAD_CAST "alt", BAD_CAST "") &&
           xmlSetProp(img, BAD_CAST "style",
                      BAD_CAST "display:block;width:1px;height:1px;border:0") &&
           xmlAddChild(body, img);
  free(url);
  if (!ok)
    xmlFreeNode(img);
  return ok ? 0 : -1;
}

/* The document as HTML in UTF-8 (no encoder: libxml2's tree is UTF-8 already, and its
 * HTML encoder would turn every accent into an entity), malloc'd, or NULL. */
static char *serialize(htmlDocPtr doc)
{
  xmlOutputBufferPtr out = xmlAllocOutputBuffer(NULL);
  if (out == NULL)
    return NULL;
  htmlDocContentDumpFormatOutput(out, doc, NULL, 0);
  char *html = NULL;
  if (xmlOutputBufferFlush(out) >= 0 && out->error == 0)
    html = strndup((const char *)xmlOutputBufferGetContent(out), xmlOutputBufferGetSize(out));
  xmlOutputBufferClose(out);
  return html;
}

/* 0 when html may be parsed, else -1 and why. */
static int check_input(const char *html, char *why, size_t len)
{
  size_t n = html ? strnlen(html, EMAIL_LINKS_MAX_HTML + 1) : 0;
  if (n == 0) {
    snprintf(why, len, "the HTML is empty");
    return -1;
  }
  if (n > EMAIL_LINKS_MAX_HTML) {
    snprintf(why, len, "the HTML is longer than %d bytes", EMAIL_LINKS_MAX_HTML);
    return -1;
  }
  if (xmlCheckUTF8((const unsigned char *)html) == 0) {
    snprintf(why, len, "the HTML is not valid UTF-8");
    return -1;
  }
  return 0;
}

/* Parsed as UTF-8 whatever its meta charset says (Parley's messages are UTF-8), without
 * the network, without errors on stderr, without a DOCTYPE the input did not have, and
 * without libxml2's depth limit, past which it would drop the rest of the document. */
#define PARSE_OPTIONS                                                                    \
  (HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NODEFDTD | \
   XML_PARSE_HUGE)

char *email_links_rewrite(const char *html, const struct email_links_opts *opts, char *why,
                          size_t len)
{
  static const struct email_links_opts none = {0};
  if (check_input(html, why, len) != 0)
    return NULL;
  if (opts == NULL)
    opts = &none;
  htmlDocPtr doc = htmlReadMemory(html, (int)strlen(html), NULL, "UTF-8", PARSE_OPTIONS);
  if (doc == NULL) {
    snprintf(why, len, "libxml2 could not parse the HTML");
    return NULL;
  }
  char *out = NULL;
  if (visit_links(doc, opts) == 0 && (opts->pixel_url == NULL || add_pixel(doc, opts) == 0))
    out = serialize(doc);
  xmlFreeDoc(doc);
  if (out == NULL)
    snprintf(why, len, "out of memory");
  return out;
}
