$(BUILD)/tests/test_symbols: $(BUILD)/analyzer/symbols.o
