/* The text part of a message whose template has only HTML: libxml2's HTML parser reads
 * the document as a browser would (broken markup recovered), and the walk below keeps
 * what a reader sees -- words with their spacing collapsed, a line per paragraph, list
 * item or break, links followed by their URL -- and drops head, script and style. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "email.h"

struct out {
  char *buf;
  size_t len, cap;
  int failed;
};

static void put(struct out *o, const char *s, size_t n)
{
  if (o->failed)
    return;
  if (o->len + n + 1 > o->cap) {
    size_t cap = (o->cap ? o->cap * 2 : 256) + n;
    char *b = realloc(o->buf, cap);
    if (b == NULL) {
      o->failed = 1;
      return;
    }
    o->buf = b;
    o->cap = cap;
  }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
  o->buf[o->len] = '\0';
}

/* A line ends here unless one just did (at most one blank line between blocks). */
static void newline(struct out *o, int blank)
{
  if (o->len == 0 || o->failed)
    return;
  while (o->len && o->buf[o->len - 1] == ' ')
    o->buf[--o->len] = '\0';
  int ends = o->len && o->buf[o->len - 1] == '\n';
  int blanks = o->len > 1 && ends && o->buf[o->len - 2] == '\n';
  if (!ends)
    put(o, "\n", 1);
  if (blank && !blanks)
    put(o, "\n", 1);
}

/* Text with runs of white space as one space, none at a line's start. */
static void words(struct out *o, const char *s)
{
  for (; *s; s++) {
    int space = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f';
    if (space) {
      if (o->len && o->buf[o->len - 1] != ' ' && o->buf[o->len - 1] != '\n')
        put(o, " ", 1);
    } else {
      put(o, s, 1);
    }
  }
}

static int named(const xmlNode *n, const char *const *names)
{
  for (; *names; names++)
    if (strcasecmp((const char *)n->name, *names) == 0)
      return 1;
  return 0;
}

static void walk(struct out *o, const xmlNode *n)
{
  static const char *const skip[] = {"head", "script", "style", "title", NULL};
  static const char *const blocks[] = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
                                       "blockquote", "pre", "hr", NULL};
  static const char *const lines[] = {"br", "tr", "li", NULL};
  for (; n; n = n->next) {
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
      words(o, (const char *)n->content);
      continue;
    }
    if (n->type != XML_ELEMENT_NODE || named(n, skip))
      continue;
    int block = named(n, blocks), line = named(n, lines);
    if (block)
      newline(o, 1);
    else if (line)
      newline(o, 0);
    if (strcasecmp((const char *)n->name, "li") == 0)
      put(o, "- ", 2);
    walk(o, n->children);
    xmlChar *href = strcasecmp((const char *)n->name, "a") == 0 ? xmlGetProp(n, (const xmlChar *)"href") : NULL;
    if (href && strncasecmp((const char *)href, "mailto:", 7) != 0 && *href) {
      put(o, " (", 2);
      put(o, (const char *)href, strlen((const char *)href));
      put(o, ")", 1);
    }
    xmlFree(href);
    if (block)
      newline(o, 1);
  }
}

char *email_text_of_html(const char *html)
{
  struct out o = {0};
  htmlDocPtr doc = htmlReadMemory(html, (int)strlen(html), NULL, "UTF-8",
                                  HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
  if (doc)
    walk(&o, xmlDocGetRootElement(doc));
  xmlFreeDoc(doc);
  put(&o, "", 0);
  if (!o.failed && o.buf == NULL)
    o.buf = calloc(1, 1);
  if (o.failed) {
    free(o.buf);
    return NULL;
  }
  newline(&o, 0); /* one final line break, no blank line */
  while (o.len > 1 && o.buf[o.len - 1] == '\n' && o.buf[o.len - 2] == '\n')
    o.buf[--o.len] = '\0';
  return o.buf;
}
