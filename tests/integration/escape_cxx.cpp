// Leaks through operator new inside a template, and through strdup inside
// an always-inlined function: `libtrace leaks` must start each stack at the
// program's own code, demangled, with the inlined frames shown.
#include <cstdlib>
#include <cstring>
#include <string>

namespace store {
struct Widget {
	long id;
	char name[40];
};

template <typename T> inline T *make(long id)
{
	T *w = new T();
	w->id = id;
	return w;
}

static inline __attribute__((always_inline)) char *copy_name(const char *s)
{
	return strdup(s);
}

__attribute__((noinline)) char *label(long i)
{
	char *s = copy_name(i % 2 ? "odd" : "even");
	s[0] = (char)(s[0] - 'a' + 'A');
	return s;
}
} // namespace store

store::Widget *volatile keep[3];
char *volatile kept_label;

int main()
{
	for (int i = 0; i < 3; i++)
		keep[i] = store::make<store::Widget>(i);
	kept_label = store::label(1);
	std::string s(100, 'x');
	return s.size() == 100 ? 0 : 1;
}
