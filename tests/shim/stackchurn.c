/* stackpaths.c's walks on a churn of short-lived threads: see CHURN there. */
#define CHURN 1
#include "stackpaths.c"
