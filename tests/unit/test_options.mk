$(BUILD)/tests/test_options: $(BUILD)/interposer/options.o $(BUILD)/interposer/log.o
