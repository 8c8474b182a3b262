$(BUILD)/tests/test_classify_lz4: $(BUILD)/analyzer/classify.o $(BUILD)/analyzer/fate.o \
	$(BUILD)/analyzer/model.o $(BUILD)/analyzer/dump.o $(BUILD)/analyzer/fmt.o \
	$(BUILD)/analyzer/symbols.o $(BUILD)/analyzer/report.o $(BUILD)/analyzer/diff.o \
	$(BUILD)/tests/dumpgen.o
