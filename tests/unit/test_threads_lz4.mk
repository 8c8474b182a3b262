$(BUILD)/tests/test_threads_lz4: $(BUILD)/analyzer/threads.o $(BUILD)/analyzer/model.o \
	$(BUILD)/analyzer/dump.o $(BUILD)/analyzer/fmt.o $(BUILD)/analyzer/symbols.o \
	$(BUILD)/tests/dumpgen.o
