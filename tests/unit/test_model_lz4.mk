$(BUILD)/tests/test_model_lz4: $(BUILD)/analyzer/model.o $(BUILD)/analyzer/dump.o \
	$(BUILD)/analyzer/fmt.o $(BUILD)/tests/dumpgen.o
