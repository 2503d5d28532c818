export { BearerToken, bearerFrom } from './bearer-token';
