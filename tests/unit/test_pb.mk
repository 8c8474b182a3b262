$(BUILD)/tests/test_pb: $(BUILD)/analyzer/pb.o $(BUILD)/analyzer/series.o
