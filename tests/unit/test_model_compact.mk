# model.c with a compact live table at any size.
$(BUILD)/analyzer/model_compact.o: analyzer/model.c $(BUILD)/.flags $(BUILD)/.deps-ok | $(BUILD)/analyzer
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -DLIVE_COMPACT_MIN=0 -c -o $@ $<

$(BUILD)/tests/test_model_compact: $(BUILD)/analyzer/model_compact.o $(BUILD)/analyzer/dump.o \
	$(BUILD)/analyzer/fmt.o $(BUILD)/tests/dumpgen.o
