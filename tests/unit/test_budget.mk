$(BUILD)/tests/test_budget: $(BUILD)/analyzer/budget.o $(BUILD)/analyzer/fmt.o
