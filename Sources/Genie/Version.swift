/// The version of genie-swift (the library and the `genie` command), in semantic-versioning form.
public let genieVersion = "0.5.0"
