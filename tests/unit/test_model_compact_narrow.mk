# model.c with a compact live table at any size and four kinds of block,
# swept once two have no block: blocks past the fourth kind live at once go
# through the aside hash.
$(BUILD)/analyzer/model_compact_narrow.o: analyzer/model.c $(BUILD)/.flags $(BUILD)/.deps-ok | $(BUILD)/analyzer
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -DLIVE_COMPACT_MIN=0 -DLIVE_KIND_BITS=2 \
	    -DKIND_SWEEP_MIN=2 -c -o $@ $<

$(BUILD)/tests/test_model_compact_narrow: $(BUILD)/analyzer/model_compact_narrow.o \
	$(BUILD)/analyzer/dump.o $(BUILD)/analyzer/fmt.o $(BUILD)/tests/dumpgen.o
