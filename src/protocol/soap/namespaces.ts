export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
export const SIMPLE_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService';
export const REPORTING_NS = 'http://www.microsoft.com/SoftwareDistribution';
