$(BUILD)/tests/test_fmt: $(BUILD)/analyzer/fmt.o
