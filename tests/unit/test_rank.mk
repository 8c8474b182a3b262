# report.c is included by the test itself, for its static functions.
$(BUILD)/tests/test_rank: $(BUILD)/analyzer/model.o $(BUILD)/analyzer/dump.o \
	$(BUILD)/analyzer/fmt.o $(BUILD)/analyzer/symbols.o
