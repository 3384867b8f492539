// Namespace URIs the update metadata uses. Matching is always on the URI: upstream documents
// pick their prefixes freely and redeclare them on individual elements.

export const MSUS_ROOT = 'http://schemas.microsoft.com/msus/';
export const UPD_NS = 'http://schemas.microsoft.com/msus/2002/12/Update';
export const BASE_RULES_NS = 'http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules';
export const MSI_RULES_NS = 'http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules';
export const DRIVER_NS = 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver';
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
