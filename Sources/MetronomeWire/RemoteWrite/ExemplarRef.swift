/// An exemplar attached to a series' sample: one label (the trace id), a value and a time; borrowed like ``LabelRef``.
public struct ExemplarRef {
    public var labelName: UnsafeRawBufferPointer
    public var labelValue: UnsafeRawBufferPointer
    public var value: Double
    public var timestampMs: Int64

    @inlinable
    public init(
        labelName: UnsafeRawBufferPointer,
        labelValue: UnsafeRawBufferPointer,
        value: Double,
        timestampMs: Int64
    ) {
        self.labelName = labelName
        self.labelValue = labelValue
        self.value = value
        self.timestampMs = timestampMs
    }
}
