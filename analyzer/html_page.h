/*
 * The fixed parts of the HTML report (html_page.c): everything before and
 * after its embedded data.  Text only; nothing here reads a dump.
 */
#ifndef LT_ANALYZER_HTML_PAGE_H
#define LT_ANALYZER_HTML_PAGE_H

extern const char lt_html_before_data[];
extern const char lt_html_after_data[];

#endif /* LT_ANALYZER_HTML_PAGE_H */
