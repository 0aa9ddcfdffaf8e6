// Addresses, subnets and names of managed networks (see address.hpp).
