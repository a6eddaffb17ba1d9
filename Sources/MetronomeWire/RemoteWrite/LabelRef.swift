/// One label of an emitted series: name and value bytes, valid only during the ``SampleSink`` call that receives it.
public struct LabelRef {
    public var name: UnsafeRawBufferPointer
    public var value: UnsafeRawBufferPointer

    @inlinable
    public init(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        self.name = name
        self.value = value
    }
}
