$(BUILD)/tests/test_stacks: $(BUILD)/interposer/stacks.o $(BUILD)/interposer/arena.o $(BUILD)/interposer/log.o
