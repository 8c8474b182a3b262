$(BUILD)/tests/test_model_zstd: $(BUILD)/analyzer/model.o $(BUILD)/analyzer/dump.o \
	$(BUILD)/analyzer/fmt.o $(BUILD)/tests/dumpgen.o
