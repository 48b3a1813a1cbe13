import Genie
print("genie \(GenieVersion.string)")
