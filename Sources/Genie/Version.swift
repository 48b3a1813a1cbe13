public enum GenieVersion { public static let string = "0.1.0" }
