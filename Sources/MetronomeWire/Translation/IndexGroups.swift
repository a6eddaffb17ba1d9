/// The indexes of a list's elements grouped by a key (`0..<keyCount`): keys in the order of their first element,
/// each key's elements in order. Flat arrays, a linked list through `next`: grouping allocates three arrays however
/// many groups there are (a request where every span has its own service must not cost an array per span).
struct IndexGroups {
    /// The keys that have elements, in the order their first element was added.
    private(set) var keys: [Int] = []
    private var first: [Int]
    private var last: [Int]
    private var next: [Int]

    /// The bytes a grouping holds, for memory accounting.
    static func heldBytes(keyCount: Int, elementCount: Int) -> Int {
        (3 * keyCount + elementCount) * MemoryLayout<Int>.stride
    }

    init(keyCount: Int, elementCount: Int) {
        first = [Int](repeating: -1, count: keyCount)
        last = first
        next = [Int](repeating: -1, count: elementCount)
    }

    /// Adds `element` (added in increasing order) to the group of `key`.
    mutating func add(_ element: Int, key: Int) {
        if first[key] < 0 {
            first[key] = element
            keys.append(key)
        } else {
            next[last[key]] = element
        }
        last[key] = element
    }

    /// The first element of `key`'s group (-1 when it has none).
    func firstMember(of key: Int) -> Int { first[key] }

    /// The elements of `key`'s group, in order.
    func members(of key: Int) -> Members { Members(groups: self, start: first[key]) }

    /// A group's elements.
    struct Members: Sequence, IteratorProtocol {
        fileprivate let groups: IndexGroups
        fileprivate var start: Int

        mutating func next() -> Int? {
            guard start >= 0 else { return nil }
            defer { start = groups.next[start] }
            return start
        }
    }
}
