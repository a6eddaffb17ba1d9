import MetronomeWire

/// A validated tenant id (`X-Scope-OrgID`), safe to use as a label value and, encoded, as a directory name.
///
/// Rules as Tempo's (dskit, spec §1.2): 1 to 150 bytes of `A-Z a-z 0-9 ! - _ . * ' ( )`, and not `.` or `..`.
public struct TenantID: Hashable, Sendable, CustomStringConvertible {
    /// The tenant of requests without a tenant header.
    public static let singleTenant = TenantID(unchecked: "single-tenant")
    /// The longest id accepted, in bytes.
    public static let maxLength = 150

    public let value: String

    private init(unchecked value: String) { self.value = value }

    /// Validates `value` as a tenant id.
    /// - Throws: ``TenantID/Error`` saying what is wrong.
    public init(validating value: String) throws(TenantID.Error) {
        guard !value.isEmpty else { throw Error(message: "tenant id is empty") }
        guard value.utf8.count <= Self.maxLength else {
            throw Error(message: "tenant id is \(value.utf8.count) bytes long; at most \(Self.maxLength) are allowed")
        }
        guard value != "." && value != ".." else { throw Error(message: "tenant id '\(value)' is not allowed") }
        if let bad = value.unicodeScalars.first(where: { !Self.isAllowed($0) }) {
            throw Error(
                message:
                    "tenant id \(ClientText.quoted(value)) contains \(ClientText.quoted(String(bad))); allowed: A-Z a-z 0-9 ! - _ . * ' ( )"
            )
        }
        self.value = value
    }

    public var description: String { value }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "!", "-", "_", ".", "*", "'", "(", ")": true
        default: false
        }
    }

    /// Why a tenant id was rejected.
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }
}
