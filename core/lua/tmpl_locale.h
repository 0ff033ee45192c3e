/* Locales and currencies for template formatters (tmpl_locale.c has the table). */
#ifndef PARLEY_TMPL_LOCALE_H
#define PARLEY_TMPL_LOCALE_H

enum tmpl_cur_pos {
  CUR_BEFORE,       /* $1,234.50 */
  CUR_BEFORE_SPACE, /* € 1.234,50 */
  CUR_AFTER,        /* 1.234,50 € */
};

struct tmpl_locale {
  const char *tag;
  const char *group, *decimal;
  enum tmpl_cur_pos cur_pos;
  const char *date, *time; /* patterns, see tmpl_locale.c */
  int zero_is_one;         /* plural: 0 takes the singular word too (French, Brazilian Portuguese) */
};

struct tmpl_currency {
  const char *code, *symbol;
  int decimals;
};

const struct tmpl_locale *tmpl_locale_find(const char *tag);
void tmpl_currency_find(const char *code, struct tmpl_currency *out);

#endif
