$(BUILD)/tests/test_dump: $(BUILD)/analyzer/dump.o $(BUILD)/analyzer/model.o \
	$(BUILD)/analyzer/fmt.o $(BUILD)/tests/dumpgen.o
