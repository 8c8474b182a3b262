# model.c with 6-bit sizes, 2-bit sites and a 1-bit thread: blocks of 63
# bytes and up, of the fifth site met on, and of every thread after the
# first two go through the aside hash.
$(BUILD)/analyzer/model_narrow.o: analyzer/model.c $(BUILD)/.flags $(BUILD)/.deps-ok | $(BUILD)/analyzer
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -DLIVE_SIZE_BITS=6 -DLIVE_SITE_BITS=2 \
	    -DLIVE_THREAD_BITS=1 -c -o $@ $<

$(BUILD)/tests/test_model_narrow: $(BUILD)/analyzer/model_narrow.o $(BUILD)/analyzer/dump.o \
	$(BUILD)/analyzer/fmt.o $(BUILD)/tests/dumpgen.o
